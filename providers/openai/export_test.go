package openai

// OpenFromEnv runs the registered opener's logic (ConfigFromEnv, and no
// failure without a key) for tests that set the environment.
func OpenFromEnv() (*Provider, error) { return newProvider(ConfigFromEnv(), false) }
