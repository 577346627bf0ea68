from rest_framework import serializers

from jobs.models import Job


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "state",
            "progress",
            "result",
            "error",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


# One bound instance: a ModelSerializer builds (deep-copies) its fields at every
# instantiation, which cost 0.23 ms of each accept and job read against 0.015 ms for
# to_representation on an instance built once (measured 2026-12-04). It is only read.
_JOB_REPRESENTATION = JobSerializer()


def job_data(job: Job) -> dict:
    """``JobSerializer(job).data``, without building the serializer each time."""
    return _JOB_REPRESENTATION.to_representation(job)
