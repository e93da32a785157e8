"""Stop words for the full-text index: English and Chinese function words that match
almost every entry and so carry no evidence (the built-in list is English only, and the
ICU tokenizer makes 的/了/是 separate tokens)."""

ENGLISH = """a about above after again against all am an and any are as at be because been before being
below between both but by can cannot could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just let me
more most my myself no nor not of off on once only or other ought our ours ourselves out over own same
she should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with would
you your yours yourself yourselves please tell know help there's what's how's it's i'm""".split()

CHINESE = """的 了 是 在 和 与 及 或 也 都 就 还 又 把 被 让 给 对 从 向 到 于 为 以 之 其 这 那 这个 那个 这些 那些
哪 哪个 哪些 什么 怎么 怎么样 怎样 如何 为什么 吗 呢 吧 啊 呀 么 嘛 我 我们 你 你们 他 她 它 他们 请 请问 一下 一个
有 没有 会 能 可以 应该 需要 要 想 如果 但是 但 而 并 并且 所以 因为 然后 现在 今天 已经 正在 时候 一些 很 非常 比较""".split()

STOP_WORDS: list[str] = ENGLISH + CHINESE
