package train

// SetMapThreshold sets the initializer size from which a graph goes
// through a mapped file, for tests; the returned func restores it.
func SetMapThreshold(n int64) (restore func()) {
	old := mapThreshold
	mapThreshold = n
	return func() { mapThreshold = old }
}
