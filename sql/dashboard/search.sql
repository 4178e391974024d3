-- Stories: articles whose title or body contain $term, best first, with a snippet.
select rank, article_id, title, published_at, hits, snippet
from search_articles($term)
order by rank
limit 50
