package registry

import "strings"

// Routed returns the model a router's reply came from: the model of the
// router's provider that the server's name for it (served, e.g.
// "gpt-4.1-nano-2025-04-14") designates, for pricing and accounting. It
// matches served against the provider's models' ID, Name and BaseModel,
// then, without its version suffix ("-2025-04-14", "-20251001"), against
// their BaseModel and Name; when several match, the shortest ID wins (the
// catalog's entry, say, over a custom deployment of the same model).
// Routers themselves never match. ok is false when no registered model
// matches: the call can then be priced at the router's fee alone.
func Routed(router Model, served string) (m Model, ok bool) {
	if served == "" {
		return Model{}, false
	}
	base := stripVersion(served)
	mu.RLock()
	defer mu.RUnlock()
	rank := 0 // 2: exact match, 1: match without the version
	for _, c := range models {
		if c.Provider != router.Provider || c.Router {
			continue
		}
		r := 0
		switch {
		case c.ID == served || c.Name == served || c.BaseModel == served:
			r = 2
		case base != served && (c.BaseModel == base || c.Name == base):
			r = 1
		default:
			continue
		}
		if r > rank || (r == rank && (len(c.ID) < len(m.ID) || (len(c.ID) == len(m.ID) && c.ID < m.ID))) {
			m, rank = c, r
		}
	}
	if rank == 0 {
		return Model{}, false
	}
	m.Regions = cloneMap(m.Regions)
	return m, true
}

// stripVersion removes a model version suffix: a date written
// -YYYY-MM-DD (OpenAI and Azure: "gpt-4.1-nano-2025-04-14") or -YYYYMMDD
// (Anthropic: "claude-haiku-4-5-20251001").
func stripVersion(s string) string {
	if n := len(s); n > 11 && s[n-11] == '-' && s[n-6] == '-' && s[n-3] == '-' && digits(s[n-10:n-6]) && digits(s[n-5:n-3]) && digits(s[n-2:]) {
		return s[:n-11]
	}
	if i := strings.LastIndexByte(s, '-'); i > 0 && len(s)-i-1 == 8 && digits(s[i+1:]) {
		return s[:i]
	}
	return s
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
