from django.conf import settings


def site(request):
    """Who runs this Optera: named in every page's footer and in the privacy policy."""
    return {"company_name": settings.OPTERA_COMPANY_NAME}
