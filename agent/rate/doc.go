// Package rate keeps the exchange rate of the merchant's currency to CNY,
// which receipts print as an estimate for customers paying with a Chinese
// wallet. A Keeper fetches it from the gateway (EX_RATE_QUERY) at start and
// then at a fixed interval, journals each rate as a rate.updated event
// before it is used (what is shown is always in the journal), and hands
// out the latest. A failed fetch is logged and tried again at the next
// turn; the last rate stays, and ages.
package rate
