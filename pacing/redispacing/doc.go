// Package redispacing is a [pacing.Limiter] whose state lives in Redis, so
// that the processes of a job — pods of a Kubernetes job, workers on a few
// VMs — pace each Azure deployment's quota together: four workers told the
// deployment's RPM send that RPM between them, not four times it, and a 429
// seen by one pauses all of them.
package redispacing
