"""The pages, one module per group: auth, dashboard, subjects, forms (case report
forms), casebook (sign-off), queries (and source-data verification), lock (database lock,
export, missing forms), unblinding, admin, audit."""

from oncotrial.server.web.pages import (
    admin,
    audit,
    auth,
    casebook,
    dashboard,
    forms,
    lock,
    queries,
    subjects,
    unblinding,
)

__all__ = ["ROUTERS"]

ROUTERS = (auth.router, dashboard.router, subjects.router, forms.router, casebook.router,
           queries.router, lock.router, unblinding.router, admin.router, audit.router)
