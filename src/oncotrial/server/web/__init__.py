"""Server-rendered pages for the people who use the service from a browser: log in, the
site's subjects, registration with the protocol's eligibility form, randomisation with the
password asked again, and the admin and audit pages.

The pages call the same services, with the same :data:`~oncotrial.server.security.PERMISSIONS`
and site scope, as the API: nothing here decides who may do what. Mount with::

    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.STATIC_DIR), name="static")
"""

from fastapi import APIRouter

from oncotrial.server.web.pages import ROUTERS
from oncotrial.server.web.rendering import STATIC_DIR

__all__ = ["STATIC_DIR", "router"]

router = APIRouter(include_in_schema=False)
for _page_router in ROUTERS:
    router.include_router(_page_router)
