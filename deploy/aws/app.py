"""Synthesises the interview engine's AWS stack: ``python app.py`` (or ``cdk synth``) writes
``cdk.out/InterviewEngine.template.json``. Offline: no lookups, the zones are given.

Settings (environment variables, all optional):
  AWS_REGION / CDK_DEFAULT_REGION   region (ap-south-1)
  CDK_DEFAULT_ACCOUNT               account (unset: an environment-agnostic template)
  INTERVIEW_AWS_ZONES               availability zones, comma-separated (REGIONa,REGIONb)
  INTERVIEW_AWS_CERTIFICATE_ARN     ACM certificate for HTTPS (unset: HTTP on port 80 only)
  INTERVIEW_AWS_GEMINI_SECRET       name of a Secrets Manager secret with the Gemini API key
  INTERVIEW_AWS_REPOSITORY          ECR repository of the gateway image (interview-engine)
  INTERVIEW_AWS_GATEWAYS            gateway tasks (2)
"""

from __future__ import annotations

import os

import aws_cdk as cdk
from interview_stack import InterviewSettings, InterviewStack


def settings_from_environment() -> tuple[InterviewSettings, cdk.Environment]:
    region = os.environ.get("AWS_REGION") or os.environ.get("CDK_DEFAULT_REGION") or "ap-south-1"
    zones = os.environ.get("INTERVIEW_AWS_ZONES") or f"{region}a,{region}b"
    settings = InterviewSettings(
        availability_zones=tuple(z.strip() for z in zones.split(",") if z.strip()),
        certificate_arn=os.environ.get("INTERVIEW_AWS_CERTIFICATE_ARN") or None,
        gemini_secret_name=os.environ.get("INTERVIEW_AWS_GEMINI_SECRET") or None,
        repository_name=os.environ.get("INTERVIEW_AWS_REPOSITORY") or "interview-engine",
        desired_count=int(os.environ.get("INTERVIEW_AWS_GATEWAYS") or 2),
    )
    return settings, cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=region)


def main() -> None:
    app = cdk.App()
    settings, env = settings_from_environment()
    InterviewStack(app, "InterviewEngine", settings=settings, env=env)
    app.synth()


if __name__ == "__main__":
    main()
