/** Money as the server sends it: integer paise (₹1 = 100 paise). */

const formats = new Map<string, Intl.NumberFormat>();

function format(currency: string, fraction: number): Intl.NumberFormat {
  const key = `${currency}:${fraction}`;
  let found = formats.get(key);
  if (!found) {
    found = new Intl.NumberFormat('en-IN', {
      style: 'currency',
      currency,
      minimumFractionDigits: fraction,
      maximumFractionDigits: fraction,
    });
    formats.set(key, found);
  }
  return found;
}

/** 19900 → "₹199", 3980 → "₹39.80", 10000000 → "₹1,00,000" (Indian grouping). */
export function formatPaise(paise: number, currency = 'INR'): string {
  return format(currency, paise % 100 === 0 ? 0 : 2).format(paise / 100);
}

/** Always with paise, for receipts and totals: "₹199.00". */
export function formatPaiseExact(paise: number, currency = 'INR'): string {
  return format(currency, 2).format(paise / 100);
}
