package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		in   string
		want shard
		err  string
	}{
		{"1/1", shard{1, 1}, ""},
		{"2/4", shard{2, 4}, ""},
		{" 4 / 4 ", shard{4, 4}, ""},
		{"0/4", shard{}, "1 ≤ K ≤ N"},
		{"5/4", shard{}, "1 ≤ K ≤ N"},
		{"2/0", shard{}, "1 ≤ K ≤ N"},
		{"2", shard{}, "want K/N"},
		{"a/b", shard{}, "want K/N"},
	} {
		got, err := parseShard(c.in)
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got)
	}
}

// The shard of an ID is fixed by the contract (FNV-1a 64 of its bytes,
// modulo N): these values must never change, or workers of two versions
// would take the same lines, or none.
func TestShardOfIsStable(t *testing.T) {
	// Computed by an independent implementation of FNV-1a (offset basis
	// 0xcbf29ce484222325, prime 0x100000001b3).
	assert.Equal(t, 1, shardOf("", 4))
	for id, want := range map[string]int{"q001": 3, "q002": 2, "p042": 3, "1": 0, "héllo": 0} {
		assert.Equal(t, want, shardOf(id, 4), id)
	}
	// Even enough: 10,000 IDs over 4 shards, each within 5% of a quarter.
	counts := make([]int, 4)
	for i := range 10_000 {
		counts[shardOf(fmt.Sprintf("id-%d", i), 4)]++
	}
	for k, n := range counts {
		assert.InDelta(t, 2500, n, 125, "shard %d", k+1)
	}
}

// N runs with --shard k/N take every line exactly once between them,
// malformed lines and duplicates included, and each says what it left to
// the others.
func TestShardsSplitTheInput(t *testing.T) {
	in := writeFile(t, "in.jsonl", prompts(60)+"{not json\n"+`{"id":"q007","prompt":"again"}`+"\n")
	dir := t.TempDir()
	seen := map[string]int{}
	total := 0
	for k := 1; k <= 3; k++ {
		out := filepath.Join(dir, fmt.Sprintf("out-%d.jsonl", k))
		r := cli{engine: &fakeEngine{reply: echo, concurrency: 4}}.run(t, "run", "-m", "clitest-small", "-i", in, "-o", out, "--shard", fmt.Sprintf("%d/3", k))
		rs := readResults(t, out)
		assert.NotEmpty(t, rs, "shard %d took nothing", k)
		for _, res := range rs {
			seen[res.ID]++
		}
		total += len(rs)
		assert.Contains(t, r.stderr, fmt.Sprintf("(this is shard %d/3)", k))
		assert.Regexp(t, `other shards\s+\d+ lines`, r.stderr)
		if shardOf("q007", 3) == k-1 {
			assert.Contains(t, r.stderr, `id "q007" already appeared`, "the shard of a repeated ID reports it")
		}
	}
	assert.Equal(t, 61, total, "60 prompts and the malformed line (line 61), once each")
	for i := 1; i <= 60; i++ {
		assert.Equal(t, 1, seen[fmt.Sprintf("q%03d", i)], "q%03d", i)
	}
	assert.Equal(t, 1, seen["61"], "the malformed line's result, by its line number")
}

func TestScaleFlagErrors(t *testing.T) {
	in := writeFile(t, "in.jsonl", prompts(3))
	const secret = "Sup3r-S3cret-pw"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--shard", "3/2"}, "--shard \"3/2\""},
		{[]string{"--redis", "http://:" + secret + "@localhost:6379"}, `--redis: http://:xxxxx@localhost:6379 is not a Redis URL: the scheme is "http"`},
		{[]string{"--redis", "redis://:" + secret + "@local host:6379"}, "is not a Redis URL"},
		{[]string{"--redis-optional"}, "--redis-optional needs --redis URL"},
		{[]string{"--redis", "redis://localhost", "--cache", "x.db"}, "[cache redis] were all set"},
		{[]string{"--redis", "redis://:" + secret + "@" + closed + "/0"}, "is redis-server running"},
	} {
		args := append([]string{"run", "-m", "clitest-small", "-i", in, "-o", filepath.Join(t.TempDir(), "o.jsonl")}, c.args...)
		r := runCLI(t, args...)
		assert.Equal(t, exitUsage, r.code, "%v: %s", c.args, r.stderr)
		assert.Contains(t, r.stderr, c.want, "%v", c.args)
		assert.NotContains(t, r.stderr, secret, "the password is never printed")
	}
	// The URL may come from the environment instead of the command line.
	r := cli{environ: map[string]string{redisEnv: "redis://:" + secret + "@" + closed + "/0"}}.run(t,
		"run", "-m", "clitest-small", "-i", in, "-o", filepath.Join(t.TempDir(), "o.jsonl"))
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--redis-optional")
	assert.NotContains(t, r.stderr, secret)
	assert.True(t, strings.Contains(r.stderr, closed), "%s", r.stderr)
}
