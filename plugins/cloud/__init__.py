"""Managed databases and cloud metrics: AWS CloudWatch metrics, RDS events and Performance
Insights, read from saved AWS CLI output (a folder) or live through boto3, and the database
fault detectors over them (`detect_database_faults`)."""
