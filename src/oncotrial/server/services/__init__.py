"""The use cases of the service, one database transaction each, with no web framework
inside: the routes, the command line and the tests call the same functions. They take a
SQLAlchemy session (inside :func:`~oncotrial.server.db.session.write_transaction` when
they write) and a :class:`~oncotrial.server.security.Principal`, and raise the classes of
:mod:`oncotrial.errors`."""
