-- Stories: the related list of one article, in page order, with media kind and upload time.
select position, related_title, media_kind, pic_uploaded_at, news_id, related_article_title
from related_links
where article_id = $article_id
order by position
