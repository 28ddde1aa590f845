// TEMPORARY STUB (lead local, never committed)
export function bertBaseUncasedJson(): unknown { throw new Error("stub"); }
