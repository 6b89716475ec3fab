"""The web app: page glue (pages.py), the templates and the versioned static files the pages load.

Page handlers live in `functions/web/`; they call the same services as the API routes beside them.
"""
