"""The pages, one module per group: auth, dashboard, subjects, forms (case report
forms), admin, audit."""

from oncotrial.server.web.pages import admin, audit, auth, dashboard, forms, subjects

__all__ = ["ROUTERS"]

ROUTERS = (auth.router, dashboard.router, subjects.router, forms.router, admin.router,
           audit.router)
