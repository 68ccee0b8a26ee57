package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPromptNumber(t *testing.T) {
	assert.Equal(t, 42, promptNumber([]byte(`{"model":"m","messages":[{"role":"user","content":"soak prompt 42"}]}`)))
	assert.Zero(t, promptNumber([]byte(`{"messages":[{"role":"user","content":"other"}]}`)))
	assert.Zero(t, promptNumber([]byte(`not json`)))
}

func TestCheckOutput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(
		`{"id":"p000001","error":null}`+"\n"+
			`{"id":"p000002","error":{"code":"unavailable"}}`+"\n"+
			`{"id":"p000002","error":null}`+"\n"+
			`{"id":"p000002","error":null}`+"\n"+
			`{"id":"x","error":null}`+"\n"+
			`{"id":"p000001","err`), 0o644))
	var r report
	require.NoError(t, r.checkOutput(path, 3))
	assert.Equal(t, 6, r.Lines)
	assert.Equal(t, 1, r.ErrorLines)
	assert.Equal(t, 1, r.Missing, "p000003")
	assert.Equal(t, 1, r.Duplicated, "p000002")
	assert.Equal(t, 1, r.Unknown)
	assert.Equal(t, 1, r.TornInOutput)
	assert.False(t, r.OK())
}

func TestAccount(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	r := report{Interruptions: []interruption{
		{Signal: "killed", At: at(1000), Exited: at(1010)},
		{Signal: "terminated", At: at(3000), Exited: at(4000)},
	}}
	r.account([]promptLog{
		{paid: 1, firstArrival: at(10)},
		// Answered 500 ms before the kill of its run, paid again: lost.
		{paid: 2, firstArrival: at(400), paidArrival: at(400), firstPaid: at(500)},
		// Answered just before, and just after, the kill: in flight.
		{paid: 2, firstArrival: at(950), paidArrival: at(950), firstPaid: at(990)},
		{paid: 3, firstArrival: at(1005), paidArrival: at(1005), firstPaid: at(1100)},
		// A run stopped by SIGTERM must not pay anything twice.
		{paid: 2, firstArrival: at(2000), paidArrival: at(2000), firstPaid: at(2100)},
		// Sent after the SIGTERM (beyond the delivery allowance).
		{paid: 1, firstArrival: at(3100), paidArrival: at(3100), firstPaid: at(3200)},
		{paid: 1, firstArrival: at(3010)},
		// Paid twice after every interruption.
		{paid: 2, firstArrival: at(5000), paidArrival: at(5000), firstPaid: at(5010)},
	})
	assert.Equal(t, 5, r.PaidTwicePrompts)
	assert.Equal(t, 6, r.ExtraReplies)
	assert.Equal(t, 1, r.LostAfterArrival)
	assert.Equal(t, 3, r.InFlightAtKill)
	assert.Equal(t, 2, r.AnsweredAfterKill)
	assert.Equal(t, 1, r.AfterSIGTERM)
	assert.Equal(t, 1, r.OtherExtra)
	assert.Equal(t, 1, r.SentAfterSIGTERM)
	assert.False(t, r.OK())
}

// TestSoakSmall runs the whole soak on a few hundred prompts: the deluge
// command built from this module, killed and terminated, resumed to the
// end.
func TestSoakSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the deluge command and runs it several times")
	}
	bin := filepath.Join(t.TempDir(), "deluge")
	build := exec.Command("go", "build", "-o", bin, "github.com/deluge-go/deluge/cmd/deluge")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	r, err := soak(config{deluge: bin, n: 400, faults: 0.2, kills: 2, terms: 1, concurrency: 16, timeout: 5 * time.Minute,
		latency: time.Millisecond, seed: 1})
	require.NoError(t, err)
	assert.Equal(t, 0, r.Missing)
	assert.Equal(t, 0, r.Duplicated)
	assert.Equal(t, 0, r.TornInOutput)
	assert.Positive(t, r.Requests)
	assert.GreaterOrEqual(t, r.Runs, 2)
	assert.True(t, r.OK(), "%+v", r)
}
