package llm

import (
	"sync"
	"sync/atomic"

	"github.com/deluge-go/deluge/registry"
)

// priceUsage prices u at m's catalog prices; for a router
// ([registry.Model.Router]), at the prices of the model it chose (served,
// the server's name for it) plus the router's own fee. A routed model the
// registry does not know adds nothing: the call costs the fee alone, and
// Stats.ByRoutedModel says so (RoutedStats.PricedAs is empty).
func priceUsage(m *registry.Model, served string, u Usage) float64 {
	c := u.Cost(*m)
	if m.Router {
		if r, ok := registry.Routed(*m, served); ok {
			c += u.Cost(r)
		}
	}
	return c
}

// RoutedStats are the totals of the calls a router ([registry.Model.Router])
// sent to one model, as [Stats.ByRoutedModel] reports them.
type RoutedStats struct {
	// Router is the ID of the router model that chose it.
	Router string
	// Calls counts the replies it gave; the tokens and cost are theirs
	// (the cost includes the router's fee).
	Calls        int64
	InputTokens  int64
	OutputTokens int64
	Cost         float64
	// PricedAs is the ID of the registered model whose prices priced the
	// calls (see [registry.Routed]); empty when the registry has none, in
	// which case the calls were priced at the router's fee alone: register
	// the model to price them in full.
	PricedAs string
}

// routedCounters are the live totals of one routed model.
type routedCounters struct {
	router, pricedAs                 string
	calls, inputTokens, outputTokens atomic.Int64
	cost                             atomicFloat
}

// routedTotals holds the routed models' counters by name: reads of an
// existing name take no lock.
type routedTotals struct{ m sync.Map } // routed model name → *routedCounters

// add counts a router's reply.
func (r *routedTotals) add(router *registry.Model, resp *Response) {
	v, ok := r.m.Load(resp.RoutedModel)
	if !ok {
		rc := &routedCounters{router: router.ID}
		if pm, found := registry.Routed(*router, resp.RoutedModel); found {
			rc.pricedAs = pm.ID
		}
		v, _ = r.m.LoadOrStore(resp.RoutedModel, rc)
	}
	rc := v.(*routedCounters)
	rc.calls.Add(1)
	rc.inputTokens.Add(int64(resp.Usage.InputTokens))
	rc.outputTokens.Add(int64(resp.Usage.OutputTokens))
	if resp.Cost != 0 {
		rc.cost.add(resp.Cost)
	}
}

// snapshot returns the totals by routed model, nil when no router replied.
func (r *routedTotals) snapshot() map[string]RoutedStats {
	var out map[string]RoutedStats
	r.m.Range(func(k, v any) bool {
		rc := v.(*routedCounters)
		if out == nil {
			out = map[string]RoutedStats{}
		}
		out[k.(string)] = RoutedStats{Router: rc.router, Calls: rc.calls.Load(), InputTokens: rc.inputTokens.Load(),
			OutputTokens: rc.outputTokens.Load(), Cost: rc.cost.load(), PricedAs: rc.pricedAs}
		return true
	})
	return out
}
