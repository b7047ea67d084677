package runtime

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CUDA provider files that live next to a CUDA-enabled core.
const (
	CUDAProviderFile   = "libonnxruntime_providers_cuda.so"
	SharedProviderFile = "libonnxruntime_providers_shared.so"
	// PairManifest is written by scripts/fetch-onnxruntime.sh --cuda.
	PairManifest = "kadapter-ort.json"
)

// PairError says that a core library and the CUDA provider beside it come
// from different ONNX Runtime releases; such a pair is never loaded.
type PairError struct {
	Core, Provider               string
	CoreVersion, ManifestVersion string
	Reason                       string
}

// Error names both files, their versions and what to do.
func (e *PairError) Error() string {
	return fmt.Sprintf("refusing to load %s with the CUDA provider %s: %s; a provider must come from the same ONNX Runtime "+
		"release as its core (reinstall the pair with `scripts/fetch-onnxruntime.sh --cuda`)", e.Core, e.Provider, e.Reason)
}

// CoreVersion reads the ONNX Runtime version of a core library from its ELF
// version definition (VERS_x.y.z), without loading it.
func CoreVersion(lib string) (string, error) {
	f, err := elf.Open(lib)
	if err != nil {
		return "", err
	}
	defer f.Close()
	vs, err := f.DynamicVersions()
	if err != nil {
		return "", fmt.Errorf("%s: no ELF version definitions: %w", lib, err)
	}
	for _, v := range vs {
		if ver := strings.TrimPrefix(v.Name, "VERS_"); ver != v.Name && strings.Count(ver, ".") == 2 {
			return ver, nil
		}
	}
	return "", fmt.Errorf("%s has no VERS_x.y.z version definition (not an ONNX Runtime core?)", lib)
}

// providerCarries reports whether the provider's read-only data holds
// version as a whole NUL-terminated string (ONNX Runtime builds its
// version string into every provider).
func providerCarries(provider, version string) (bool, error) {
	f, err := elf.Open(provider)
	if err != nil {
		return false, err
	}
	defer f.Close()
	needle := append(append([]byte{0}, version...), 0)
	for _, name := range []string{".rodata", ".rodata1"} {
		s := f.Section(name)
		if s == nil {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return false, err
		}
		if bytes.Contains(data, needle) {
			return true, nil
		}
	}
	return false, nil
}

// CheckPair verifies, without loading anything, that the CUDA provider next
// to the core library lib (if there is one) comes from the same ONNX
// Runtime release: the core's version definition, the version string in
// the provider and the install manifest (when present) must agree. It
// returns the core's version; a lib with no provider beside it is not
// checked (version "" and nil).
func CheckPair(lib string) (string, error) {
	dir := filepath.Dir(lib)
	prov := filepath.Join(dir, CUDAProviderFile)
	if _, err := os.Stat(prov); err != nil {
		return "", nil
	}
	pe := &PairError{Core: lib, Provider: prov}
	cv, err := CoreVersion(lib)
	if err != nil {
		pe.Reason = err.Error()
		return "", pe
	}
	pe.CoreVersion = cv
	if raw, err := os.ReadFile(filepath.Join(dir, PairManifest)); err == nil {
		var m struct {
			ORTVersion string `json:"ort_version"`
		}
		if err := json.Unmarshal(raw, &m); err == nil && m.ORTVersion != "" && m.ORTVersion != cv {
			pe.ManifestVersion = m.ORTVersion
			pe.Reason = fmt.Sprintf("the core is ONNX Runtime %s but %s says %s", cv, PairManifest, m.ORTVersion)
			return cv, pe
		}
	}
	ok, err := providerCarries(prov, cv)
	if err != nil {
		pe.Reason = "cannot read the provider: " + err.Error()
		return cv, pe
	}
	if !ok {
		pe.Reason = fmt.Sprintf("the core is ONNX Runtime %s and the provider does not carry that version", cv)
		return cv, pe
	}
	return cv, nil
}

// hasCUDAProvider reports whether a CUDA provider sits next to lib.
func hasCUDAProvider(lib string) bool {
	_, err := os.Stat(filepath.Join(filepath.Dir(lib), CUDAProviderFile))
	return err == nil
}

// isPairError reports whether err is a refused core/provider pair.
func isPairError(err error) bool {
	var pe *PairError
	return errors.As(err, &pe)
}
