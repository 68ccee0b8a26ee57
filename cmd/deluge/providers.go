package main

// The providers the CLI can use, registered as database/sql drivers are.
import (
	_ "github.com/deluge-go/deluge/providers/anthropic"
	_ "github.com/deluge-go/deluge/providers/azurefoundry"
	_ "github.com/deluge-go/deluge/providers/openai"
)
