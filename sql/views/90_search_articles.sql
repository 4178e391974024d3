-- Full-text search without an extension: articles whose title or body contain a term
-- (case-insensitive, literal), ranked by how often it appears, with a snippet around it.
-- example: select rank, title, hits, snippet from search_articles('aleppo')
create or replace macro search_articles(term) as table
with scored as (
    select
        article_id,
        title,
        published_at,
        body,
        lead,
        (length(lower(title || ' ' || body)) - length(replace(lower(title || ' ' || body), lower(term), '')))
            // length(term) as hits,
        strpos(lower(body), lower(term)) as found_at
    from articles
    where length(term) > 0
),
ranked as (
    select
        row_number() over (order by hits desc, published_at desc nulls last, article_id) as rank,
        article_id,
        title,
        published_at,
        hits,
        case
            when found_at = 0 then left(lead, 160)
            else
                if(found_at > 61, '…', '')
                || substr(body, greatest(found_at - 60, 1), least(found_at, 61) + length(term) + 59)
                || if(found_at + length(term) + 60 <= length(body), '…', '')
        end as raw_snippet
    from scored
    where hits > 0
)
select rank, article_id, title, published_at, hits, regexp_replace(raw_snippet, '\s+', ' ', 'g') as snippet
from ranked
order by rank;

comment on macro table search_articles is 'search_articles(term): articles whose title or body contain term (case-insensitive, taken literally), ranked by occurrences; columns rank, article_id, title, published_at, hits, snippet (about 60 characters either side of the first match in the body, or the lead when only the title matches).';
