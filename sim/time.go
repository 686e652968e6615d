package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time is virtual time in nanoseconds since the start of a run. Nothing in the
// simulator reads the wall clock, so a run's outcome depends only on its inputs.
type Time int64

// Duration is a span of virtual time in nanoseconds. In TOML it is written like
// a Go duration, with days allowed: "90s", "8h", "1.5d", "2d12h".
type Duration int64

// Units of Duration.
const (
	Nanosecond  Duration = 1
	Microsecond          = 1000 * Nanosecond
	Millisecond          = 1000 * Microsecond
	Second               = 1000 * Millisecond
	Minute               = 60 * Second
	Hour                 = 60 * Minute
	Day                  = 24 * Hour
)

// MaxTime is the latest representable instant (about 292 years).
const MaxTime = Time(1<<63 - 1)

// Add returns t+d, or ok=false when the sum would overflow or fall below zero.
func (t Time) Add(d Duration) (Time, bool) {
	s := t + Time(d)
	if (d > 0 && s < t) || (d < 0 && s > t) || s < 0 {
		return 0, false
	}
	return s, true
}

// Sub returns t-u.
func (t Time) Sub(u Time) Duration { return Duration(t - u) }

// Hours returns t in hours since the start, for reports.
func (t Time) Hours() float64 { return float64(t) / float64(Hour) }

func (t Time) String() string { return Duration(t).String() }

// Hours returns d in hours.
func (d Duration) Hours() float64 { return float64(d) / float64(Hour) }

// String writes whole days as "Nd" followed by the Go form of the rest: "2d3h0m0s".
func (d Duration) String() string {
	if d >= Day || d <= -Day {
		days := d / Day
		rest := d % Day
		if rest < 0 {
			rest = -rest
		}
		if rest == 0 {
			return strconv.FormatInt(int64(days), 10) + "d"
		}
		return strconv.FormatInt(int64(days), 10) + "d" + time.Duration(rest).String()
	}
	return time.Duration(d).String()
}

// ParseDuration parses a Go duration with an optional leading day count:
// "45m", "8h", "1.5d", "2d12h". Negative values are refused: the simulator has
// no use for them in configuration.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total Duration
	if i := strings.IndexByte(t, 'd'); i >= 0 {
		f, err := strconv.ParseFloat(t[:i], 64)
		if err != nil || f < 0 || f > float64(MaxTime)/float64(Day) {
			return 0, fmt.Errorf("bad duration %q (want e.g. \"8h\", \"1.5d\", \"2d12h\")", s)
		}
		total = Duration(f * float64(Day))
		t = t[i+1:]
		if t == "" {
			return total, nil
		}
	}
	v, err := time.ParseDuration(t)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad duration %q (want e.g. \"8h\", \"1.5d\", \"2d12h\")", s)
	}
	sum := total + Duration(v)
	if sum < total {
		return 0, fmt.Errorf("duration %q overflows", s)
	}
	return sum, nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
