package main

import (
	"testing"
	"time"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// TestAcceptedRate: the scale-out figure's rate counts the accepted
// requests over the span from the first arrival (refused or not) to the
// last accepted one; n requests span n-1 intervals.
func TestAcceptedRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var arr []azuretest.Arrival
	for i := range 11 { // 11 accepted, one every 100 ms: 10 a second
		arr = append(arr, azuretest.Arrival{Time: t0.Add(time.Duration(i) * 100 * time.Millisecond), Status: 200})
	}
	arr = append(arr, azuretest.Arrival{Time: t0.Add(1100 * time.Millisecond), Status: 429})
	if got := acceptedRate(arr); got < 9.999 || got > 10.001 {
		t.Fatalf("acceptedRate = %v, want 10", got)
	}
	if got := acceptedRate(arr[:1]); got != 0 {
		t.Fatalf("acceptedRate of one arrival = %v, want 0", got)
	}
}
