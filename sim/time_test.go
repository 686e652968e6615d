package sim

import (
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]Duration{
		"45m":    45 * Minute,
		"8h":     8 * Hour,
		"1.5d":   36 * Hour,
		"2d12h":  60 * Hour,
		"30d":    30 * Day,
		" 90s ":  90 * Second,
		"0s":     0,
		"1d30m":  Day + 30*Minute,
		"250ms":  250 * Millisecond,
		"0.25d":  6 * Hour,
		"3d0.5h": 3*Day + 30*Minute,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
		back, err := ParseDuration(got.String())
		if err != nil || back != got {
			t.Errorf("%q: String %q does not parse back (%v, %v)", in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "d", "-1h", "-2d", "1dd", "xd", "1d-1h", "1e300d", "5"} {
		if v, err := ParseDuration(bad); err == nil {
			t.Errorf("%q accepted as %v", bad, v)
		}
	}
}

func TestDurationTOML(t *testing.T) {
	var c struct {
		Session Duration `toml:"session"`
	}
	if err := toml.Unmarshal([]byte(`session = "1.5d"`), &c); err != nil || c.Session != 36*Hour {
		t.Fatalf("%v %v", c.Session, err)
	}
	out, err := toml.Marshal(c)
	if err != nil || string(out) != "session = '1d12h0m0s'\n" {
		t.Fatalf("%q %v", out, err)
	}
	if err := toml.Unmarshal([]byte(`session = "soon"`), &c); err == nil {
		t.Fatal("bad duration accepted")
	}
}

func TestTimeAdd(t *testing.T) {
	if _, ok := MaxTime.Add(1); ok {
		t.Fatal("overflow not caught")
	}
	if _, ok := Time(5).Add(-6); ok {
		t.Fatal("negative time not caught")
	}
	if v, ok := Time(5).Add(Hour); !ok || v.Sub(5) != Hour {
		t.Fatal("add")
	}
}
