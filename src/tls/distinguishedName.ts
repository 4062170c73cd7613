/** A distinguished name in one line, `CN=Partner CA, O=Fabrikam`: Node's X509Certificate writes one attribute per line. */
export const oneLineName = (name: string): string => name.replace(/\n/g, ', ');
