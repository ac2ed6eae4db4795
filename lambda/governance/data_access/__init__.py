"""Data access: one interface per store the handlers use, and its AWS implementation.

Each module defines a ``Protocol`` (what the logic may ask of the store) and one class that
implements it with boto3. Tests give the logic in-memory fakes of the protocols; the moto
end-to-end tests use the boto3 classes. Only :mod:`governance.data_access.aws` imports boto3.
"""
