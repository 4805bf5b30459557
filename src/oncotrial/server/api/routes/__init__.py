"""One router per resource. Each route validates its input (pydantic), calls one service
through :class:`~oncotrial.server.api.deps.Db` and returns the service result's
``to_dict()`` as its response model; no route holds a transaction or a query."""

from oncotrial.server.api.routes import (
    audit,
    auth,
    exports,
    forms,
    notifications,
    queries,
    randomisations,
    sites,
    subjects,
    trial,
    users,
)

__all__ = ["ROUTERS"]

ROUTERS = (auth.router, trial.router, sites.router, users.router, subjects.router,
           randomisations.router, audit.router, notifications.router, forms.router,
           queries.router, exports.router)
