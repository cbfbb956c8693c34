"""API Gateway access-log lines in, custom CloudWatch metrics (EMF) out."""
