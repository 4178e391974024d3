-- The site's news id of corpus articles, inferred from other articles' related lists: a
-- related entry refers to an article when their normalized titles match and the entry's
-- picture was uploaded from two days before to one day after the article's publication.
-- example: select title, news_id, agreeing_references, candidate_ids, is_conflict from story_ids order by title
create or replace view story_ids as
with refs as (
    select
        ri.article_id as referring_article_id,
        ri.news_id,
        normalized_title(cr.title) as title_key,
        cr.pic_uploaded_at
    from related_items as ri
    inner join articles as a using (article_id)
    inner join capture_related as cr on cr.source_path = a.source_path and cr.position = ri.position
),
targets as (
    select article_id, published_at, normalized_title(title) as title_key
    from articles
),
agreeing as (
    select t.article_id, r.news_id, count(*) as agreeing_references
    from targets as t
    inner join refs as r using (title_key)
    where r.referring_article_id <> t.article_id
      and (
          r.pic_uploaded_at is null
          or t.published_at is null
          or r.pic_uploaded_at between t.published_at - interval 2 day and t.published_at + interval 1 day
      )
    group by all
),
candidates as (
    select
        *,
        count(*) over (partition by article_id) as candidate_ids,
        count(*) over (partition by news_id) as claiming_articles
    from agreeing
)
select
    c.article_id,
    a.title,
    a.published_at,
    c.news_id,
    c.agreeing_references,
    c.candidate_ids,
    c.candidate_ids > 1 or c.claiming_articles > 1 as is_conflict
from candidates as c
inner join articles as a using (article_id)
qualify row_number() over (partition by c.article_id order by c.agreeing_references desc, c.news_id) = 1;

comment on view story_ids is 'The site''s news id of corpus articles, inferred from other articles'' related lists (matching normalized titles, picture uploaded from two days before to one day after publication); one row per article with at least one agreeing reference.';
comment on column story_ids.article_id is 'The corpus article.';
comment on column story_ids.title is 'Its headline.';
comment on column story_ids.published_at is 'Its publication time.';
comment on column story_ids.news_id is 'The inferred news id: the candidate with the most agreeing references (the lowest id on a tie).';
comment on column story_ids.agreeing_references is 'Related-list entries of other articles that carry this news id and agree with the article on title and time.';
comment on column story_ids.candidate_ids is 'Distinct news ids whose references agree with the article.';
comment on column story_ids.is_conflict is 'True when more than one news id agrees with the article, or this news id also agrees with another article.';
