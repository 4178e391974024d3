-- Stories: one article, as a reader opens it.
select article_id, title, published_at, body, attribution, related_count, word_count, source_path
from articles
where article_id = $article_id
