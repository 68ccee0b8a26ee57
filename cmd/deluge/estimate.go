package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/deluge-go/deluge/registry"
)

type estimateFlags struct {
	model     string
	input     string
	output    string
	provider  string
	system    string
	maxTokens int
	asJSON    bool
	batch     bool
}

func newEstimateCmd(a *app) *cobra.Command {
	var f estimateFlags
	cmd := &cobra.Command{
		Use:   "estimate -m MODEL -i prompts.jsonl [--max-tokens N]",
		Short: "Estimate tokens and cost of a run before spending anything",
		Long: `Read the prompts a run would send and estimate their tokens and cost, without
calling any model.

Prompt tokens are estimated locally (about four characters of English per
token, images at their documented flat rates); the estimate is usually
within 10-20% of the real tokenizer. The cost is a range: the low end pays
for the prompts only, the high end assumes every completion runs to its
maximum: the line's "max_tokens", else --max-tokens, else the model's
maximum output.

With -o, prompts already done in that output file are left out, so the
estimate is what a rerun would still cost.

With --batch, the cost is that of 'deluge batch submit': the provider's batch
price (Azure: half the Global Standard price for Global Batch, half the Data
Zone one for Data Zone Batch, per AZURE_OPENAI_BATCH_DEPLOYMENT_TYPE; OpenAI:
half the price).`,
		Example: `  deluge estimate -m azure-gpt-4o-mini -i prompts.jsonl --max-tokens 300
  deluge estimate -m azure-gpt-4o -i prompts.jsonl -o results.jsonl   # what is left to pay
  cat prompts.jsonl | deluge estimate -m gpt-4o --json
  deluge estimate -m azure-gpt-4o -i prompts.jsonl --batch            # the batch route`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEstimate(a, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.model, "model", "m", "", "model ID (see 'deluge models'); lines may override it with \"model\"")
	fl.StringVarP(&f.input, "input", "i", "-", `input JSONL file, or "-" for stdin`)
	fl.StringVarP(&f.output, "output", "o", "", "leave out the prompts already done in this output file")
	fl.StringVar(&f.provider, "provider", "", "price the same model served by another provider (e.g. azure-foundry)")
	fl.StringVar(&f.system, "system", "", "system message prepended to every prompt, as in 'deluge run'")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "maximum completion tokens per prompt (default: the model's maximum output)")
	fl.BoolVar(&f.asJSON, "json", false, "print the estimate as JSON")
	fl.BoolVar(&f.batch, "batch", false, "price the batch route ('deluge batch submit'): the provider's batch price")
	return cmd
}

// modelEstimate is the estimate for the prompts of one model.
type modelEstimate struct {
	Model   string `json:"model"`
	Prompts int    `json:"prompts"`
	// InputTokens is the estimated prompt tokens.
	InputTokens int `json:"input_tokens"`
	// MaxOutputTokens is the sum of the completion caps; Unbounded counts
	// prompts with no cap known (no --max-tokens and no model maximum).
	MaxOutputTokens int     `json:"max_output_tokens"`
	Unbounded       int     `json:"unbounded,omitempty"`
	MinCost         float64 `json:"min_cost"`
	MaxCost         float64 `json:"max_cost"`
	// OverContext counts prompts that look longer than the context window.
	OverContext int `json:"over_context_window,omitempty"`
}

// estimate is the whole report.
type estimate struct {
	Prompts    int             `json:"prompts"`
	Malformed  int             `json:"malformed"`
	Duplicates int             `json:"duplicates"`
	Done       int             `json:"already_done"`
	Models     []modelEstimate `json:"models"`
	// Route is "batch" for the prices of the batch route.
	Route string        `json:"route,omitempty"`
	Total modelEstimate `json:"total"`
}

func runEstimate(a *app, f *estimateFlags) error {
	if f.model == "" {
		return usageErrorf("estimate needs a model: -m MODEL (see 'deluge models')")
	}
	if f.maxTokens < 0 {
		return usageErrorf("--max-tokens %d: must be positive", f.maxTokens)
	}
	def, err := lookupModel(f.model, f.provider)
	if err != nil {
		return usageError(err)
	}
	if f.batch {
		if err := batchRefusal(def); err != nil {
			return usageError(err)
		}
	}
	in, closeIn, err := openInput(a, f.input)
	if err != nil {
		return err
	}
	defer closeIn()
	var done *resumeIndex
	if f.output != "" && f.output != "-" {
		done, err = readDone(f.output)
		if err != nil {
			return usageError(err)
		}
	}

	price := func(m registry.Model, in, out int) float64 { return m.Cost(in, 0, out) }
	if f.batch {
		price = batchPrice
	}
	var (
		est     estimate
		byModel = map[string]*modelEstimate{}
		models  = map[string]registry.Model{def.ID: def}
	)
	src := newPromptSource(in, f.system, done)
	for {
		p, disp, _, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return usageErrorf("reading %s: %v", inputName(f.input), err)
		}
		switch disp {
		case dispDone:
			est.Done++
			continue
		case dispDuplicate:
			est.Duplicates++
			continue
		case dispMalformed:
			est.Malformed++
			a.ui.warnf("line %d: %v", p.Line, p.Err)
			continue
		}
		m := def
		if p.Model != "" {
			var ok bool
			if m, ok = models[p.Model]; !ok {
				if m, err = lookupModel(p.Model, f.provider); err == nil && f.batch {
					err = batchRefusal(m)
				}
				if err != nil {
					est.Malformed++
					a.ui.warnf("line %d: %v", p.Line, err)
					continue
				}
				models[p.Model] = m
			}
		}
		me := byModel[m.ID]
		if me == nil {
			me = &modelEstimate{Model: m.ID}
			byModel[m.ID] = me
		}
		est.Prompts++
		inTok := p.Conv.EstimateTokens()
		out := p.MaxTokens
		if out == 0 {
			out = f.maxTokens
		}
		if out == 0 {
			out = m.MaxOutputTokens
		}
		me.Prompts++
		me.InputTokens += inTok
		me.MaxOutputTokens += out
		if out == 0 {
			me.Unbounded++
		}
		if m.ContextWindow > 0 && inTok > m.ContextWindow {
			me.OverContext++
		}
		me.MinCost += price(m, inTok, 0)
		me.MaxCost += price(m, inTok, out)
	}
	for _, me := range byModel {
		est.Models = append(est.Models, *me)
		t := &est.Total
		t.Prompts += me.Prompts
		t.InputTokens += me.InputTokens
		t.MaxOutputTokens += me.MaxOutputTokens
		t.Unbounded += me.Unbounded
		t.OverContext += me.OverContext
		t.MinCost += me.MinCost
		t.MaxCost += me.MaxCost
	}
	est.Total.Model = "total"
	if f.batch {
		est.Route = "batch"
	}
	slices.SortFunc(est.Models, func(x, y modelEstimate) int { return y.Prompts - x.Prompts })
	if est.Models == nil {
		est.Models = []modelEstimate{}
	}

	if f.asJSON {
		enc := json.NewEncoder(a.ui.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(est)
	}
	return writeEstimate(a.ui, &est)
}

func writeEstimate(u *ui, est *estimate) error {
	// Numbers align right; the model column is padded to stay on the left.
	width := len("MODEL")
	for _, me := range est.Models {
		width = max(width, len(me.Model))
	}
	tw := tabwriter.NewWriter(u.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\tPROMPTS\tINPUT TOKENS\tMAX OUTPUT TOKENS\tMIN COST\tMAX COST\t\n", width, "MODEL")
	row := func(me modelEstimate) {
		maxCost := formatUSD(me.MaxCost)
		maxOut := groupDigits(me.MaxOutputTokens)
		if me.Unbounded > 0 {
			maxCost += "+"
			maxOut += "+"
		}
		fmt.Fprintf(tw, "%-*s\t%s\t~%s\t%s\t%s\t%s\t\n", width, me.Model, groupDigits(me.Prompts),
			groupDigits(me.InputTokens), maxOut, formatUSD(me.MinCost), maxCost)
	}
	for _, me := range est.Models {
		row(me)
	}
	if len(est.Models) > 1 {
		row(est.Total)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	if est.Route == "batch" {
		notes = append(notes, "costs are batch prices ('deluge batch submit'); the results arrive within 24 hours")
	}
	if est.Done > 0 {
		notes = append(notes, fmt.Sprintf("%s prompts already done in the output file are not counted", groupDigits(est.Done)))
	}
	if est.Malformed > 0 {
		notes = append(notes, fmt.Sprintf("%s malformed lines are not counted (see above)", groupDigits(est.Malformed)))
	}
	if est.Duplicates > 0 {
		notes = append(notes, fmt.Sprintf("%s lines repeat an earlier ID and would not be sent", groupDigits(est.Duplicates)))
	}
	if est.Total.Unbounded > 0 {
		notes = append(notes, fmt.Sprintf("%s prompts have no known completion limit (\"+\"): pass --max-tokens for a bound", groupDigits(est.Total.Unbounded)))
	}
	if est.Total.OverContext > 0 {
		notes = append(notes, fmt.Sprintf("%s prompts look longer than their model's context window and would fail", groupDigits(est.Total.OverContext)))
	}
	for _, n := range notes {
		fmt.Fprintf(u.stdout, "note: %s\n", n)
	}
	return nil
}

// openInput opens the input file, or stdin for "-". Reading a terminal is
// refused: the user most likely forgot -i.
func openInput(a *app, name string) (io.Reader, func(), error) {
	if name == "-" || name == "" {
		if a.env.stdinTTY {
			return nil, nil, usageErrorf("no input: pass -i prompts.jsonl, or pipe JSONL into stdin")
		}
		return a.env.stdin, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, usageErrorf("cannot read input %s: %v", name, unwrapPathError(err))
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, nil, usageErrorf("cannot read input %s: it is a directory", name)
	}
	return f, func() { f.Close() }, nil
}

func inputName(name string) string {
	if name == "-" || name == "" {
		return "stdin"
	}
	return name
}

// readDone indexes an output file's successful IDs without modifying it.
func readDone(path string) (*resumeIndex, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read output %s: %w", path, unwrapPathError(err))
	}
	defer f.Close()
	ix := &resumeIndex{done: map[string]struct{}{}}
	br := newLineReader(f)
	var line []byte
	for n := 1; ; n++ {
		line, err = readFullLine(br, line[:0])
		if errors.Is(err, io.EOF) {
			return ix, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading output %s: %w", path, err)
		}
		ix.add(n, line)
	}
}
