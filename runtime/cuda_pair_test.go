package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cachedLib returns a library installed by scripts/fetch-onnxruntime.sh
// (sub is "1.30.0" or "1.29.0-cuda") or skips.
func cachedLib(t *testing.T, sub, file string) string {
	t.Helper()
	p := filepath.Join(cacheDir(), "onnxruntime", sub, file)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not installed (scripts/fetch-onnxruntime.sh%s)", p, map[bool]string{true: " --cuda"}[strings.HasSuffix(sub, "-cuda")])
	}
	return p
}

func link(t *testing.T, dir, src, name string) string {
	t.Helper()
	dst := filepath.Join(dir, name)
	if err := os.Symlink(src, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestCheckPair(t *testing.T) {
	core129 := cachedLib(t, "1.29.0-cuda", "libonnxruntime.so")
	prov129 := cachedLib(t, "1.29.0-cuda", CUDAProviderFile)
	core130 := cachedLib(t, "1.30.0", "libonnxruntime.so")
	cases := []struct {
		name     string
		core     string
		provider string
		manifest string
		version  string
		want     string // "" = accepted
	}{
		{"installed pair", core129, prov129, `{"ort_version": "1.29.0"}`, "1.29.0", ""},
		{"no provider: not checked", core130, "", "", "", ""},
		{"1.30 core with the 1.29 provider", core130, prov129, "", "1.30.0", "the core is ONNX Runtime 1.30.0 and the provider does not carry that version"},
		{"manifest disagrees", core129, prov129, `{"ort_version": "1.28.0"}`, "1.29.0", "kadapter-ort.json says 1.28.0"},
		{"provider is not a library", core129, "-", "", "1.29.0", "cannot read the provider"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			lib := link(t, dir, c.core, "libonnxruntime.so")
			switch c.provider {
			case "":
			case "-":
				os.WriteFile(filepath.Join(dir, CUDAProviderFile), []byte("junk"), 0o644)
			default:
				link(t, dir, c.provider, CUDAProviderFile)
			}
			if c.manifest != "" {
				os.WriteFile(filepath.Join(dir, PairManifest), []byte(c.manifest), 0o644)
			}
			v, err := CheckPair(lib)
			if v != c.version {
				t.Errorf("version %q, want %q", v, c.version)
			}
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var pe *PairError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "fetch-onnxruntime.sh --cuda") {
				t.Fatalf("error %v, want a *PairError with %q", err, c.want)
			}
		})
	}
	if v, err := CoreVersion(core130); v != "1.30.0" || err != nil {
		t.Fatalf("CoreVersion(1.30 core) = %q, %v", v, err)
	}
	if _, err := CoreVersion(prov129); err == nil {
		t.Fatal("CoreVersion of a provider succeeded")
	}
}

// TestInitRefusesMismatchedPair: a mismatched pair is never loaded, even
// when it is named explicitly; the error says why.
func TestInitRefusesMismatchedPair(t *testing.T) {
	prov129 := cachedLib(t, "1.29.0-cuda", CUDAProviderFile)
	core130 := cachedLib(t, "1.30.0", "libonnxruntime.so")
	dir := t.TempDir()
	lib := link(t, dir, core130, "libonnxruntime.so")
	link(t, dir, prov129, CUDAProviderFile)
	code, out := runInitProcess(t, LibraryEnv+"="+lib)
	if code != 3 || !strings.Contains(out, "refusing to load") || !strings.Contains(out, "1.30.0") {
		t.Fatalf("exit %d, want the pair refused:\n%s", code, out)
	}
}

func TestCandidatesForCUDA(t *testing.T) {
	cache := t.TempDir()
	for _, v := range []string{"1.30.0", "1.29.0-cuda", "1.24.1"} {
		d := filepath.Join(cache, "onnxruntime", v)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "libonnxruntime.so"), nil, 0o644)
		if strings.HasSuffix(v, "-cuda") {
			os.WriteFile(filepath.Join(d, CUDAProviderFile), nil, 0o644)
		}
	}
	t.Setenv(LibraryEnv, "")
	t.Setenv("KADAPTER_CACHE", cache)
	order := func(c []Candidate) string {
		var got []string
		for _, x := range c[:3] {
			got = append(got, filepath.Base(filepath.Dir(x.Path)))
		}
		return strings.Join(got, " ")
	}
	for _, c := range []struct {
		d    Device
		want string
	}{
		{CPU, "1.30.0 1.29.0-cuda 1.24.1"},
		{Device{CUDA: true}, "1.29.0-cuda 1.30.0 1.24.1"},
	} {
		if got := order(CandidatesFor(c.d)); got != c.want {
			t.Errorf("%s: cache candidates %s, want %s", c.d, got, c.want)
		}
	}
}

func TestFindCUDALibraries(t *testing.T) {
	explicit, venv := t.TempDir(), t.TempDir()
	wheel := filepath.Join(venv, "lib", "python3.99", "site-packages", "nvidia", "cu13", "lib")
	cudnn := filepath.Join(venv, "lib", "python3.99", "site-packages", "nvidia", "cudnn", "lib")
	for _, d := range []string{wheel, cudnn} {
		os.MkdirAll(d, 0o755)
	}
	for dir, names := range map[string][]string{
		explicit: {"libcudart.so.13"},
		wheel:    {"libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13"},
		cudnn:    {"libcudnn.so.9"},
	} {
		for _, n := range names {
			os.WriteFile(filepath.Join(dir, n), nil, 0o644)
		}
	}
	t.Setenv(CUDALibsEnv, explicit+":/nonexistent")
	t.Setenv("VIRTUAL_ENV", venv)
	t.Setenv("LD_LIBRARY_PATH", "")
	dirs := CUDALibDirs()
	if len(dirs) < 3 || dirs[0] != explicit {
		t.Fatalf("search order %v: want %s first, nonexistent folders dropped", dirs, explicit)
	}
	for _, d := range dirs {
		if d == "/nonexistent" {
			t.Fatalf("nonexistent folder kept: %v", dirs)
		}
	}
	found := map[string]string{}
	for _, l := range FindCUDALibraries(dirs) {
		found[l.Name] = l.Path
	}
	cases := []struct{ name, want string }{
		{"libcudart.so.13", filepath.Join(explicit, "libcudart.so.13")}, // the explicit folder wins
		{"libcublasLt.so.13", filepath.Join(wheel, "libcublasLt.so.13")},
		{"libcudnn.so.9", filepath.Join(cudnn, "libcudnn.so.9")},
		{"libcurand.so.10", ""},
	}
	for _, c := range cases {
		if found[c.name] != c.want {
			t.Errorf("%s found at %q, want %q", c.name, found[c.name], c.want)
		}
	}
}
