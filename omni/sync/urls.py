"""Channel sync API routes (webhooks, runs), mounted under /api/v1/."""

urlpatterns: list = []
