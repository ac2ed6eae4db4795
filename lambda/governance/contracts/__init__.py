"""What the app and the handlers agree on, defined once for both.

The CDK app imports this package too (``cdk_constructs`` puts the asset root on its path), so
nothing here may import boto3 or Powertools: only the standard library and pydantic, which the
app pins and the Powertools layer ships. The EventBridge models, which build on Powertools
Parser, live in :mod:`governance.events` for that reason.
"""
