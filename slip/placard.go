package slip

// Placard is a counter sign for the merchant's own OTTPay QR codes: the
// shop's name, "SCAN TO PAY US" and the static QR, then each item payment
// link under its name with its own QR. Payments made with them go to
// OTTPay directly and never pass through the agent (no journal record, no
// receipt, not in reports): the placard says so to the cashier in its
// last line. printer.EncodePlacard turns it into ESC/POS bytes;
// printer.RenderPlacardPNG shows it as a picture for a printed sign.
type Placard struct {
	Merchant string        // the header
	StaticQR string        // the static QR's URL ("" none: links only)
	Links    []PlacardLink // item payment links, each printed with its QR
}

// PlacardLink is one payment link: its name and URL.
type PlacardLink struct {
	Name, URL string
}

// Empty reports whether the placard has no QR to print.
func (pl Placard) Empty() bool { return pl.StaticQR == "" && len(pl.Links) == 0 }
