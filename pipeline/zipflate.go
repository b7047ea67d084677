package pipeline

import (
	"io"

	"github.com/klauspost/compress/flate"
)

func zipDeflate(r io.Reader) io.ReadCloser { return flate.NewReader(r) }
