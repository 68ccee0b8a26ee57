// Package examples holds example inputs for deluge, embedded so that
// programs (notably "deluge demo") can use them from any directory.
//
// prompts.jsonl has 200 varied prompts in the input format of "deluge run":
// plain prompts and OpenAI-style message lists, some with their own
// max_tokens or temperature.
package examples

import _ "embed"

// Prompts is the content of prompts.jsonl.
//
//go:embed prompts.jsonl
var Prompts []byte
