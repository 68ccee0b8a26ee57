package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/progress"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// env is everything the commands take from the process, so tests can run
// them in-process with their own streams, environment and signals.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// stdinTTY and stderrTTY report whether stdin and stderr are terminals.
	stdinTTY, stderrTTY bool
	getenv              func(string) string
	// notify delivers SIGINT and SIGTERM to c until stop is called.
	notify func(c chan<- os.Signal) (stop func())
}

func defaultEnv() *env {
	return &env{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		stdinTTY:  progress.IsTerminal(os.Stdin),
		stderrTTY: progress.IsTerminal(os.Stderr),
		getenv:    os.Getenv,
		notify: func(c chan<- os.Signal) func() {
			signal.Notify(c, os.Interrupt, syscall.SIGTERM)
			return func() { signal.Stop(c) }
		},
	}
}

// globalFlags are the flags every command takes.
type globalFlags struct {
	quiet    bool
	noColor  bool
	logLevel string
	// modelsFile is --models-file (else DELUGE_MODELS_FILE).
	modelsFile string
	// otel is --otel: export traces and metrics over OTLP (otel.go).
	otel bool
}

// app is the state shared by the commands of one invocation.
type app struct {
	env   *env
	flags globalFlags
	// ui is set up by the root command's PersistentPreRunE.
	ui *ui
	// otel is the OpenTelemetry SDK --otel installs, nil without it.
	otel *otelSetup
	// newEngine, when set, replaces the llm.Client engine (tests).
	newEngine func(cfg *runConfig) (engine, error)
	// startEmulator, when set, replaces the loopback emulator of the demo
	// (tests: an in-memory one, for a synctest bubble).
	startEmulator func(opts ...azuretest.Option) (h *azuretest.Handler, url string, client *http.Client, stop func())
}

const rootLong = `deluge sends prompts to LLMs at scale: thousands per minute under your RPM/TPM
limits, with retries, failover, an on-disk cache and resumable JSONL output.
Azure OpenAI (Azure AI Foundry) is a first-class provider.

Input and output are JSON Lines. Data goes to stdout, progress and logs to
stderr; "-" means stdin or stdout.

Exit codes: 0 all prompts succeeded, 1 some prompts failed, 2 usage or
configuration error (nothing was sent), 130 interrupted (rerun to finish).`

const rootExample = `  # See it work with no setup: an in-process Azure emulator answers 200 prompts.
  deluge demo

  # Run a file of prompts against an Azure OpenAI deployment.
  export AZURE_OPENAI_ENDPOINT=https://my-resource.openai.azure.com
  export AZURE_OPENAI_API_KEY=...
  deluge run -m azure-gpt-4o-mini -i prompts.jsonl -o results.jsonl --rpm 600 --tpm 100000

  # Interrupted? Rerun the same command: done IDs are skipped, nothing is paid twice.
  deluge run -m azure-gpt-4o-mini -i prompts.jsonl -o results.jsonl

  # What will it cost?
  deluge estimate -m azure-gpt-4o -i prompts.jsonl --max-tokens 300

  # Which models are there?
  deluge models --provider azure-foundry

  # A local Azure OpenAI emulator for your own tests.
  deluge emulate --addr 127.0.0.1:8089 --api-key test --deployments gpt-4o,gpt-4o-mini`

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "deluge",
		Short:         "Call LLMs at scale from JSONL files",
		Long:          rootLong,
		Example:       rootExample,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			u, err := newUI(a.env, a.flags)
			if err != nil {
				return err
			}
			a.ui = u
			if f := a.modelsFile(); f != "" {
				if _, err := loadModelsFile(f); err != nil {
					return err
				}
			}
			if a.flags.otel {
				s, err := startOTel(cmd.Context(), a.env, u.logger)
				if err != nil {
					return err
				}
				a.otel = s
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(fmt.Errorf("%w\nRun '%s --help' for usage.", err, cmd.CommandPath()))
	})
	pf := root.PersistentFlags()
	pf.BoolVarP(&a.flags.quiet, "quiet", "q", false, "print no progress bar and no summary; errors are still printed")
	pf.BoolVar(&a.flags.noColor, "no-color", false, "disable colors (also: NO_COLOR=1 in the environment)")
	pf.StringVar(&a.flags.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	pf.BoolVar(&a.flags.otel, "otel", false, "export traces and metrics of run and embed over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318); prompts are recorded only with "+envCaptureContent+"=true")
	pf.StringVar(&a.flags.modelsFile, "models-file", "", "register the models of this JSON file (an array in the form of 'deluge models --json': fine-tunes, custom deployments, with their prices); also "+envModelsFile)

	root.AddCommand(
		newRunCmd(a),
		newEmbedCmd(a),
		newModelsCmd(a),
		newEstimateCmd(a),
		newDemoCmd(a),
		newEmulateCmd(a),
		newBatchCmd(a),
	)
	root.SetIn(a.env.stdin)
	root.SetOut(a.env.stdout)
	root.SetErr(a.env.stderr)
	return root
}

// execute runs the CLI with args and returns the process exit code.
func execute(ctx context.Context, args []string, e *env) int {
	return executeApp(ctx, &app{env: e}, args)
}

// executeApp runs the CLI for a prepared app.
func executeApp(ctx context.Context, a *app, args []string) int {
	e := a.env
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if a.otel != nil {
		// Flush what is buffered, whatever the outcome (an interrupted run
		// returns here too).
		if ferr := a.otel.shutdown(); ferr != nil {
			fmt.Fprintf(e.stderr, "deluge: warning: %v\n", ferr)
		}
	}
	if err != nil {
		var ee *exitError
		switch {
		case errors.As(err, &ee) && ee.err == nil:
			// Already reported.
		case errors.As(err, &ee):
			fmt.Fprintf(e.stderr, "deluge: %v\n", ee.err)
		default:
			// cobra's own errors: unknown command, bad arguments.
			fmt.Fprintf(e.stderr, "deluge: %v\nRun 'deluge --help' for usage.\n", err)
		}
	}
	return exitCodeOf(err)
}

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" {
		return "(devel)"
	}
	return info.Main.Version
}

// ui is the command's view of the terminal: stdout for data, a console on
// stderr for progress, warnings and logs.
type ui struct {
	stdout  io.Writer
	console *console
	quiet   bool
	color   bool
	logger  *slog.Logger
}

func newUI(e *env, f globalFlags) (*ui, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, usageErrorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	color := e.stderrTTY && !f.noColor && e.getenv("NO_COLOR") == "" && e.getenv("TERM") != "dumb"
	c := &console{w: e.stderr, tty: e.stderrTTY}
	return &ui{
		stdout:  e.stdout,
		console: c,
		quiet:   f.quiet,
		color:   color,
		logger:  slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: level})),
	}, nil
}

// warnf prints a warning that is not an error of the run as a whole (a
// malformed input line, a repaired output file). Warnings are printed even
// with --quiet: they concern the user's data.
func (u *ui) warnf(format string, args ...any) {
	fmt.Fprintf(u.console, "deluge: "+format+"\n", args...)
}

// infof prints an informational line, unless --quiet.
func (u *ui) infof(format string, args ...any) {
	if !u.quiet {
		fmt.Fprintf(u.console, format+"\n", args...)
	}
}

// paint wraps s in an ANSI color when colors are on.
func (u *ui) paint(code, s string) string {
	if !u.color || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

const (
	colorRed    = "31"
	colorGreen  = "32"
	colorYellow = "33"
	colorBold   = "1"
)

// console serialises everything written to stderr. While a progress bar is
// shown, a write first erases the bar's line so that log lines and
// warnings are never mixed into it; the bar redraws itself on its next
// update.
type console struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	barLine bool // a progress bar is drawn on the current line
}

// Write writes p whole, under the console's lock.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.barLine {
		io.WriteString(c.w, "\r\x1b[K")
	}
	return c.w.Write(p)
}

// barWriter is the writer the progress bar draws with.
func (c *console) barWriter() io.Writer { return barWriter{c} }

// setBar records whether a progress bar is on screen.
func (c *console) setBar(on bool) {
	c.mu.Lock()
	c.barLine = on
	c.mu.Unlock()
}

type barWriter struct{ c *console }

func (b barWriter) Write(p []byte) (int, error) {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	return b.c.w.Write(p)
}

// oneLine shortens s to its first line, for error messages in tables.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
