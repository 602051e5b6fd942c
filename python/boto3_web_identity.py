"""What a pod's boto3 does with IRSA: credentials from its own web-identity provider
(AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), then STS and S3 calls. Prints one JSON object.

Usage: boto3_web_identity.py ALLOWED_BUCKET OTHER_BUCKET KEY
"""

import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def code(call):
    try:
        call()
        return "allowed"
    except ClientError as err:
        return err.response["Error"]["Code"]


def main(allowed, other, key):
    session = boto3.Session()
    s3 = session.client("s3", config=Config(s3={"addressing_style": "path"}))
    caller = session.client("sts").get_caller_identity()
    s3.put_object(Bucket=allowed, Key=key, Body=b"hello from boto3")
    body = s3.get_object(Bucket=allowed, Key=key)["Body"].read().decode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=allowed).get("Contents", [])]
    s3.delete_object(Bucket=allowed, Key=key)
    print(json.dumps({
        "caller_arn": caller["Arn"],
        "credential_method": session.get_credentials().method,
        "get_body": body,
        "listed": listed,
        "other_list": code(lambda: s3.list_objects_v2(Bucket=other)),
        "other_put": code(lambda: s3.put_object(Bucket=other, Key=key, Body=b"x")),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:4])
