package registry

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ErrNotFound is wrapped by the error Lookup returns for an unknown ID.
var ErrNotFound = errors.New("model not found")

var (
	mu     sync.RWMutex
	models = map[string]Model{}
	// catalog holds the IDs registered with RegisterCatalog.
	catalog = map[string]bool{}
)

// Register adds m to the registry. It returns an error, and registers
// nothing, when the ID is empty or taken, the provider is missing, a price
// or limit is negative, the API spec is unknown, APIBase is not an absolute
// URL, or a region weight is negative or not finite. An empty Name defaults
// to the ID.
func Register(m Model) error {
	if err := validate(&m); err != nil {
		return err
	}
	m.Regions = cloneMap(m.Regions)
	mu.Lock()
	defer mu.Unlock()
	if _, dup := models[m.ID]; dup {
		return fmt.Errorf("registry: model %q is already registered; choose another ID", m.ID)
	}
	models[m.ID] = m
	return nil
}

// MustRegister is Register for package initialisation: it panics on error.
func MustRegister(m Model) {
	if err := Register(m); err != nil {
		panic(err)
	}
}

// RegisterCatalog is Register for a provider's own catalog: the entries a
// provider package registers at init. A catalog entry is the twin
// [Twin] (and so llm.WithProvider) picks for its base model, whatever
// other models a program registers for the same provider and base model.
func RegisterCatalog(m Model) error {
	if err := Register(m); err != nil {
		return err
	}
	mu.Lock()
	catalog[m.ID] = true
	mu.Unlock()
	return nil
}

// MustRegisterCatalog is RegisterCatalog for package initialisation: it
// panics on error.
func MustRegisterCatalog(m Model) {
	if err := RegisterCatalog(m); err != nil {
		panic(err)
	}
}

// AddCatalog registers a provider package's catalog at init: each model
// with [RegisterCatalog], except one whose ID is already taken (registered
// by the program, or another package, first), which is left alone: the
// first entry wins. It panics on any other error, which is a bug of the
// catalog.
func AddCatalog(models ...Model) {
	for _, m := range models {
		if _, err := Lookup(m.ID); err == nil {
			continue
		}
		MustRegisterCatalog(m)
	}
}

// IsCatalog reports whether id was registered by its provider's catalog
// ([RegisterCatalog]) rather than by the program.
func IsCatalog(id string) bool {
	mu.RLock()
	defer mu.RUnlock()
	return catalog[id]
}

func validate(m *Model) error {
	if strings.TrimSpace(m.ID) == "" {
		return errors.New("registry: model has an empty ID")
	}
	if m.ID != strings.TrimSpace(m.ID) {
		return fmt.Errorf("registry: model ID %q has leading or trailing spaces", m.ID)
	}
	if m.Provider == "" {
		return fmt.Errorf("registry: model %q has no Provider (e.g. \"openai\" or \"azure-foundry\")", m.ID)
	}
	if m.Name == "" {
		m.Name = m.ID
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"InputCost", m.InputCost}, {"CachedInputCost", m.CachedInputCost}, {"CacheWriteCost", m.CacheWriteCost}, {"OutputCost", m.OutputCost}} {
		if p.v < 0 || math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			return fmt.Errorf("registry: model %q: %s is %v; prices are USD per million tokens and cannot be negative", m.ID, p.name, p.v)
		}
	}
	if m.ContextWindow < 0 || m.MaxOutputTokens < 0 {
		return fmt.Errorf("registry: model %q: ContextWindow and MaxOutputTokens cannot be negative", m.ID)
	}
	if m.Dimensions < 0 || m.MaxInputs < 0 {
		return fmt.Errorf("registry: model %q: Dimensions and MaxInputs cannot be negative", m.ID)
	}
	switch m.APISpec {
	case "", APISpecChat, APISpecResponses, APISpecEmbeddings, APISpecAnthropicMessages:
	default:
		return fmt.Errorf("registry: model %q: unknown APISpec %q (want %q, %q, %q or %q)", m.ID, m.APISpec, APISpecChat, APISpecResponses, APISpecEmbeddings, APISpecAnthropicMessages)
	}
	if m.APIBase != "" {
		u, err := url.Parse(m.APIBase)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("registry: model %q: APIBase %q is not an absolute URL such as https://my-resource.openai.azure.com", m.ID, m.APIBase)
		}
	}
	for r, w := range m.Regions {
		if r == "" {
			return fmt.Errorf("registry: model %q has a region with an empty name", m.ID)
		}
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("registry: model %q: region %q has weight %v; weights must be finite and non-negative", m.ID, r, w)
		}
	}
	return nil
}

// Lookup returns the model registered under id. For an unknown id the error
// wraps ErrNotFound and suggests the closest registered IDs.
func Lookup(id string) (Model, error) {
	mu.RLock()
	m, ok := models[id]
	mu.RUnlock()
	if ok {
		m.Regions = cloneMap(m.Regions)
		return m, nil
	}
	if near := Suggest(id, 3); len(near) > 0 {
		return Model{}, fmt.Errorf("registry: %w: %q (did you mean %s?)", ErrNotFound, id, quoteJoin(near))
	}
	return Model{}, fmt.Errorf("registry: %w: %q (no models registered: import a provider, e.g. _ \"github.com/deluge-go/deluge/providers/openai\")", ErrNotFound, id)
}

// Models returns every registered model, sorted by ID.
func Models() []Model {
	mu.RLock()
	out := make([]Model, 0, len(models))
	for _, m := range models {
		m.Regions = cloneMap(m.Regions)
		out = append(out, m)
	}
	mu.RUnlock()
	slices.SortFunc(out, func(a, b Model) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ForProvider returns the model served by provider whose BaseModel (or ID)
// equals base: the model to use when switching a model to another
// provider. It is [Twin] without the explanation: when several match, the
// provider's catalog entry wins, then the shortest ID, then the first in
// alphabetical order.
func ForProvider(provider, base string) (Model, bool) {
	ms := twins(provider, base)
	if len(ms) == 0 {
		return Model{}, false
	}
	return ms[0], true
}

// ErrAmbiguous is wrapped by the error Twin returns when several models a
// program registered match and none is the provider's catalog entry.
var ErrAmbiguous = errors.New("several models match")

// Twin returns the model served by provider whose BaseModel (or ID) equals
// base: what llm.WithProvider switches a model to. The provider's catalog
// entry ([RegisterCatalog]) wins over models a program registered for the
// same base model, so registering a custom deployment never changes what
// WithProvider picks. Without a catalog entry, a single match is returned;
// several are an error wrapping [ErrAmbiguous] that lists them (name one
// directly). No match is an error wrapping [ErrNotFound].
func Twin(provider, base string) (Model, error) {
	ms := twins(provider, base)
	switch {
	case len(ms) == 0:
		return Model{}, fmt.Errorf("registry: %w: no model of provider %q has base model %q", ErrNotFound, provider, base)
	case len(ms) == 1 || IsCatalog(ms[0].ID):
		return ms[0], nil
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return Model{}, fmt.Errorf("registry: %w: provider %q serves base model %q as %s; name the one to use instead of switching provider", ErrAmbiguous, provider, base, quoteJoin(ids))
}

// twins returns the models of provider with base model base, the catalog
// entry first, then by ID length and ID.
func twins(provider, base string) []Model {
	var out []Model
	mu.RLock()
	for _, m := range models {
		if m.Provider != provider || (m.BaseModel != base && m.ID != base) {
			continue
		}
		m.Regions = cloneMap(m.Regions)
		out = append(out, m)
	}
	cat := func(m Model) int {
		if catalog[m.ID] {
			return 0
		}
		return 1
	}
	slices.SortFunc(out, func(a, b Model) int {
		if c := cat(a) - cat(b); c != 0 {
			return c
		}
		if c := len(a.ID) - len(b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	mu.RUnlock()
	return out
}

// Suggest returns up to n registered IDs closest to id: those that contain
// it or are contained in it first, then by edit distance.
func Suggest(id string, n int) []string {
	type cand struct {
		id   string
		dist int
	}
	lid := strings.ToLower(id)
	mu.RLock()
	cands := make([]cand, 0, len(models))
	for k := range models {
		lk := strings.ToLower(k)
		d := levenshtein(lid, lk)
		if lid != "" && (strings.Contains(lk, lid) || strings.Contains(lid, lk)) {
			d = min(d, abs(len(lk)-len(lid))) - 100 // containment beats any edit distance
		}
		cands = append(cands, cand{k, d})
	}
	mu.RUnlock()
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].dist != cands[j].dist {
			return cands[i].dist < cands[j].dist
		}
		return cands[i].id < cands[j].id
	})
	limit := max(len(id)/2, 3) // beyond this the "suggestion" is noise
	var out []string
	for _, c := range cands {
		if len(out) == n || c.dist > limit {
			break
		}
		out = append(out, c.id)
	}
	return out
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func quoteJoin(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func cloneMap(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
