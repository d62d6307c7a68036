/**
 * Words common to be a topic. Only words of four or more letters are listed: shorter ones
 * never count anyway (`words.ts`). The list is the usual English one (the NLTK and Lucene lists
 * cut to 4+ letters), plus what the tokenizer leaves of contractions ("couldn't" → "couldn"),
 * plus the filler of chat ("yeah", "okay", "thanks") that would otherwise top every room.
 * A deployment adds its own with the `TOPIC_STOP_WORDS` setting (comma-separated).
 */

const ENGLISH = `
about above across after afterwards again against almost alone along already also although
always among amongst another anyhow anyone anything anyway anywhere around aren became because
become becomes becoming been before beforehand behind being below beside besides between beyond
both cannot could couldn didn does doesn doing done down during each either else elsewhere
enough even ever every everyone everything everywhere except from further hadn hasn have
haven having hence here hereafter hereby herein hers herself himself however into itself just
last least less made many maybe meanwhile might mightn mine more moreover most mostly much must
mustn myself namely needn neither never nevertheless next nobody none noone nothing nowhere
often once only onto other others otherwise ours ourselves over perhaps please quite rather
really same shall shan should shouldn since some somehow someone something sometime sometimes
somewhere still such than that their theirs them themselves then thence there thereafter thereby
therefore therein thereupon these they this those though through throughout thru thus together
toward towards under until upon very wasn were weren what whatever when whence whenever
where whereafter whereas whereby wherein whereupon wherever whether which while whither whoever
whole whom whose will with within without would wouldn your yours yourself yourselves
`;

/** Chat filler and web debris that is not a topic in any room. */
const CHAT = `
actually also anyway come coming does going gonna good gotta great have hello here hmmm
http https just know like lets look make mean nice okay pretty really right said says
should sure thank thanks thing things think want wanna well yeah yesterday today
tomorrow cant dont didnt doesnt isnt wont thats theres youre theyre whats
`;

const words = (list: string) => list.split(/\s+/).filter((w) => w.length >= 4);

/** The built-in list, as the tokenizer compares words: lower case, NFC. */
export const STOP_WORDS: ReadonlySet<string> = new Set([...words(ENGLISH), ...words(CHAT)]);

/**
 * The built-in list plus a deployment's own words (from `TOPIC_STOP_WORDS`), normalised the way
 * the tokenizer normalises what people write, so "Deploy" in the setting stops "deploy".
 */
export function stopWordsWith(extra: readonly string[]): ReadonlySet<string> {
 if (extra.length === 0) return STOP_WORDS;
 const set = new Set(STOP_WORDS);
 for (const word of extra) set.add(word.trim().normalize("NFC").toLowerCase().normalize("NFC"));
 return set;
}
