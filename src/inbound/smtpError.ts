/** An error smtp-server turns into the given reply (the enhanced code is written into the text). */
export function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}
