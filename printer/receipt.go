package printer

import "github.com/posagent/posagent/slip"

// Receipt is a receipt as plain data (slip.Receipt): the agent builds one
// from a payment; Encode turns it into ESC/POS bytes; RenderPNG shows it
// as a picture.
type Receipt = slip.Receipt

// RefundLine is one refund printed under the payment (slip.RefundLine).
type RefundLine = slip.RefundLine
