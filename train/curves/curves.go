// Package curves draws a training run's curves as a self-contained SVG:
// the training loss per update (and the dev loss where evaluated) above,
// the dev metric below, both against the update number.
package curves

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

// Series is one curve: x (update numbers) and y.
type Series struct {
	Name string
	X, Y []float64
	// Color is an SVG colour; Points draws markers instead of a line only.
	Color  string
	Points bool
}

// Panel is one plot with its y-axis label.
type Panel struct {
	Title  string
	YLabel string
	Series []Series
}

// SVG draws the panels one above the other, width×(height per panel).
func SVG(title string, panels []Panel) []byte {
	const w, ph, ml, mr, mt, mb = 720, 260, 70, 20, 34, 42
	var b bytes.Buffer
	h := len(panels)*ph + 30
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", ml, esc(title))
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, p := range panels {
		for _, s := range p.Series {
			for _, x := range s.X {
				xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
			}
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax = 0, 1
	}
	if xmax == xmin {
		xmax = xmin + 1
	}
	for i, p := range panels {
		top := 30 + i*ph
		x0, x1 := float64(ml), float64(w-mr)
		y0, y1 := float64(top+mt), float64(top+ph-mb)
		ymin, ymax := math.Inf(1), math.Inf(-1)
		for _, s := range p.Series {
			for _, y := range s.Y {
				if !math.IsNaN(y) && !math.IsInf(y, 0) {
					ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
				}
			}
		}
		if math.IsInf(ymin, 0) {
			ymin, ymax = 0, 1
		}
		if ymax == ymin {
			ymin, ymax = ymin-0.5, ymax+0.5
		}
		pad := (ymax - ymin) * 0.05
		ymin, ymax = ymin-pad, ymax+pad
		sx := func(x float64) float64 { return x0 + (x-xmin)/(xmax-xmin)*(x1-x0) }
		sy := func(y float64) float64 { return y1 - (y-ymin)/(ymax-ymin)*(y1-y0) }
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", ml, top+mt-10, esc(p.Title))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>`+"\n", x0, y0, x1-x0, y1-y0)
		for _, t := range ticks(ymin, ymax, 5) {
			y := sy(t)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, x0, x1, y, y)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-5, y+4, num(t))
		}
		for _, t := range ticks(xmin, xmax, 8) {
			x := sx(t)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#444"/>`, x, x, y1, y1+4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, y1+17, num(t))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">update</text>`+"\n", (x0+x1)/2, y1+33)
		fmt.Fprintf(&b, `<text transform="translate(16,%.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", (y0+y1)/2, esc(p.YLabel))
		lx := x1 - 150
		for j, s := range p.Series {
			col := s.Color
			if col == "" {
				col = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}[j%4]
			}
			if !s.Points && len(s.X) > 1 {
				var pts []string
				for k := range s.X {
					if !math.IsNaN(s.Y[k]) && !math.IsInf(s.Y[k], 0) {
						pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(s.X[k]), sy(s.Y[k])))
					}
				}
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", col, strings.Join(pts, " "))
			}
			if s.Points || len(s.X) == 1 {
				for k := range s.X {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`, sx(s.X[k]), sy(s.Y[k]), col)
				}
				b.WriteString("\n")
			}
			ly := y0 + 14 + float64(j)*16
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="4" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n", lx, ly-6, col, lx+18, ly, esc(s.Name))
		}
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// ticks returns about n round values covering [lo, hi].
func ticks(lo, hi float64, n int) []float64 {
	span := hi - lo
	step := math.Pow(10, math.Floor(math.Log10(span/float64(n))))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= float64(n) {
			step *= m
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+step*1e-9; t += step {
		out = append(out, t)
	}
	return out
}

func num(v float64) string {
	if math.Abs(v) < 1e-12 {
		return "0"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e6 {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4g", v), "0"), ".")
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
