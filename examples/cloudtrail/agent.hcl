# auditship for AWS CloudTrail.
#
# CloudTrail delivers each log file as one JSON document {"Records":[...]}
# (gzipped, to S3), not as JSON lines. auditship reads lines, so a pre-step
# writes one record per line (see README.md):
#
#   gunzip -c 123456789012_CloudTrail_eu-west-1_20230719T2120Z_abc.json.gz |
#     jq -c '.Records[]' >> /var/log/cloudtrail/records.jsonl
#
# Tested by examples/examples_test.go against testdata/real/cloudtrail.

data_dir = "/var/lib/auditship"

input "file" "cloudtrail" {
  paths = ["/var/log/cloudtrail/*.jsonl"]

  parser "json" {}

  mapping {
    # Every record is an audit event. eventID is a UUID: the event_id is
    # derived from the line (the pre-step must append, never rewrite, so
    # that offsets stay stable).
    event_time = record.eventTime

    # The AWS service: aws.ec2, aws.iam, aws.signin, aws.kms, ...; Insight
    # records (no eventSource) are aws.insight.
    event_name = record.eventCategory == "Insight" ? "aws.insight" : "aws.${split(".", record.eventSource)[0]}"

    # The API call (StartInstances, CreateUser, ConsoleLogin); for Insight
    # records, the call whose rate was unusual.
    event_type = try(coalesce(record.eventName, record.insightDetails.eventName), record.eventName)

    event_details = {
      event_id       = record.eventID
      event_type     = record.eventType
      event_category = try(record.eventCategory, null)
      event_source   = try(record.eventSource, null)
      region         = try(record.awsRegion, null)
      account_id     = try(record.recipientAccountId, null)
      user           = try(record.userIdentity.arn, null)
      user_type      = try(record.userIdentity.type, null)
      invoked_by     = try(record.userIdentity.invokedBy, null)
      source_ip      = try(record.sourceIPAddress, null)
      user_agent     = try(record.userAgent, null)
      error_code     = try(record.errorCode, null)
      error_message  = try(record.errorMessage, null)
      read_only      = try(record.readOnly, null)
    }

    # IAM principals are ARNs, not numbers. -1 means "no numeric user id";
    # the ARN is in event_details.user.
    user_uid = -1
  }
}

# Every AWS service is an event_name and new ones appear all the time: events
# without a schema are accepted unchecked (the secret detector still runs).
# Identity changes are checked.
schemas {
  unknown_event_name = "accept"
}

schema "aws.iam" {
  details = object({
    event_id   = string
    event_type = string
    user       = string
    source_ip  = string
  })
}

output "sqlite" "store" {
  path = "audit.db"
}

query {
  listen = "127.0.0.1:8080"
}
