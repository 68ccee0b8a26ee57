package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/internal/redistest"
)

// "deluge demo --redis": three workers share the emulator's quota through
// a real Redis and take each example prompt once between them.
func TestDemoRedis(t *testing.T) {
	rds := redistest.New(t)
	t.Setenv("AZURE_OPENAI_ENDPOINT", "https://wrong.invalid")
	dir := t.TempDir()
	r := cli{}.run(t, "demo", "--redis", rds.URL(), "--latency", "2ms", "-o", filepath.Join(dir, "demo.jsonl"))
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "3 workers share one quota (3,000 RPM)")
	assert.Contains(t, r.stderr, "What just happened")
	assert.Regexp(t, `worker 2 \(shard 2/3\): \d+ results in .*demo-2\.jsonl`, r.stderr)
	var all []result
	for k := 1; k <= 3; k++ {
		rs := readResults(t, filepath.Join(dir, "demo-"+string(rune('0'+k))+".jsonl"))
		assert.NotEmpty(t, rs, "worker %d", k)
		all = append(all, rs...)
	}
	requireEachOnce(t, all)
	assert.Len(t, all, 200)

	r = cli{}.run(t, "demo", "--redis", "redis://:pw-SECRET@local host:1", "-o", filepath.Join(dir, "demo.jsonl"))
	assert.Equal(t, exitUsage, r.code)
	assert.NotContains(t, r.stderr, "pw-SECRET")
}
