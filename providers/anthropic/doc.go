// Package anthropic is deluge's provider for Anthropic's Messages API.
package anthropic
