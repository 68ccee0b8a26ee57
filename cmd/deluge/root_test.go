package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHelpShowsExamples(t *testing.T) {
	r := runCLI(t, "--help")
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, want := range []string{"deluge demo", "deluge run -m azure-gpt-4o-mini", "Exit codes", "--quiet", "--log-level"} {
		assert.Contains(t, r.stdout, want)
	}
	for _, cmd := range []string{"run", "models", "estimate", "demo", "emulate"} {
		assert.Contains(t, r.stdout, "  "+cmd+" ", "help lists %s", cmd)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	cases := map[string][]string{
		"unknown command":   {"frobnicate"},
		"unknown flag":      {"models", "--frob"},
		"bad log level":     {"--log-level", "loud", "models"},
		"unexpected arg":    {"models", "extra"},
		"unknown provider":  {"models", "--provider", "nope"},
		"estimate no model": {"estimate", "-i", "x.jsonl"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, args...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, "deluge: ")
			assert.Empty(t, r.stdout)
		})
	}
}

func TestExitCodeOf(t *testing.T) {
	assert.Equal(t, 0, exitCodeOf(nil))
	assert.Equal(t, 2, exitCodeOf(errors.New("cobra: unknown command")))
	assert.Equal(t, 2, exitCodeOf(usageErrorf("x")))
	assert.Equal(t, 1, exitCodeOf(silentExit(exitFailures)))
	assert.Equal(t, 130, exitCodeOf(silentExit(exitInterrupted)))
	assert.Equal(t, "exit status 1", silentExit(1).Error())
}

func TestColorFollowsNoColorAndTerminal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tty     bool
		noColor string
		flag    bool
		want    bool
	}{
		{"terminal", true, "", false, true},
		{"not a terminal", false, "", false, false},
		{"NO_COLOR", true, "1", false, false},
		{"--no-color", true, "", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{stderrTTY: tc.tty, getenv: func(k string) string {
				if k == "NO_COLOR" {
					return tc.noColor
				}
				return ""
			}}
			u, err := newUI(e, globalFlags{noColor: tc.flag, logLevel: "warn"})
			require.NoError(t, err)
			assert.Equal(t, tc.want, u.color)
			if tc.want {
				assert.Equal(t, "\x1b[31mx\x1b[0m", u.paint(colorRed, "x"))
			} else {
				assert.Equal(t, "x", u.paint(colorRed, "x"))
			}
		})
	}
}
