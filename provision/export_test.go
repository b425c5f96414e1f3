package provision

// SetStepHook lets the external tests inject a crash at one step of apply.
func SetStepHook(e *Engine, fn func(step string) error) { e.step = fn }
