"""SageMaker Pipelines governed like every other resource: reusable constructs."""
